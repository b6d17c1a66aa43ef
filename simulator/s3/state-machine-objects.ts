import { Readable } from "node:stream";
import type { ObjectStore as StateMachineObjects } from "../stepfunctions/interpreter/types.ts";
import type { ObjectStore } from "./object-store.ts";

/**
 * Gives Step Functions (distributed Map's ItemReader and ResultWriter) direct
 * access to the simulator's object store, without an HTTP round trip.
 */
export function stateMachineObjects(store: ObjectStore): StateMachineObjects {
  return {
    async getObject(bucket, key) {
      const { handle } = await store.openObject(bucket, key);
      try {
        return await handle.readFile();
      } finally {
        await handle.close();
      }
    },

    async putObject(bucket, key, body) {
      await store.putObject(bucket, key, Readable.from([Buffer.from(body)]), {
        attributes: { contentType: "application/json", userMetadata: {}, headers: {} },
      });
    },

    async listObjects(bucket, prefix) {
      const listed: { Key: string; Size: number; ETag?: string; LastModified?: string }[] = [];
      let after: string | undefined;
      for (;;) {
        const page = store.listObjects(bucket, { prefix, after, maxKeys: 1000 });
        for (const object of page.objects) {
          listed.push({
            Key: object.key,
            Size: object.size,
            ETag: object.etag,
            LastModified: object.lastModified,
          });
        }
        if (!page.isTruncated || !page.lastItem) return listed;
        after = page.lastItem;
      }
    },
  };
}
