/** Where an image's bytes come from: the request itself, or a gs:// object the deployment may read. */
export type ImageSource = { kind: 'bytes'; bytes: Buffer } | { kind: 'uri'; uri: string };
