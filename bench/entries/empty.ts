/** The floor of cold start figures: a bundled handler that imports nothing. */
export const handler = () => Promise.resolve({ statusCode: 200, body: "" });
