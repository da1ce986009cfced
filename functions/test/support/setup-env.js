// Tests never probe the GCE metadata server (there is no network here) and log quietly.
process.env.METADATA_SERVER_DETECTION = 'none';
process.env.GCE_METADATA_HOST = '127.0.0.1:1';
