/** A part of the SDK-based dispatch bundle on its own, for figure 5: the official SDK core's client classes. */
import { BasicCredentials } from "@huaweicloud/huaweicloud-sdk-core";
import { ClientBuilder } from "@huaweicloud/huaweicloud-sdk-core/ClientBuilder";

export const parts = [BasicCredentials, ClientBuilder];
