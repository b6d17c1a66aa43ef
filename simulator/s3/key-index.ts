/** One page of a listing: keys and rolled-up common prefixes in UTF-8 binary order. */
export interface ListPage<T> {
  objects: T[];
  commonPrefixes: string[];
  isTruncated: boolean;
  /** The last key or common prefix returned; listing resumes after it. */
  lastItem?: string;
}

/** Listing parameters shared by ListObjects and ListObjectsV2. */
export interface ListOptions {
  prefix?: string;
  delimiter?: string;
  /** Resume strictly after this key (StartAfter, Marker or a continuation token). */
  after?: string;
  maxKeys: number;
}

interface Entry {
  key: string;
  bytes: Buffer;
}

/**
 * The keys of one bucket, sorted the way S3 lists them (by UTF-8 bytes, which
 * differs from JavaScript's UTF-16 string order for characters beyond the
 * Basic Multilingual Plane), with the value stored for each key.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html
 */
export class KeyIndex<T> {
  #entries: Entry[] = [];
  #values = new Map<string, T>();

  get size(): number {
    return this.#values.size;
  }

  get(key: string): T | undefined {
    return this.#values.get(key);
  }

  /** Loads many values at once, sorting once instead of per insert. */
  load(items: Iterable<[string, T]>): void {
    for (const [key, value] of items) {
      if (!this.#values.has(key)) this.#entries.push({ key, bytes: Buffer.from(key) });
      this.#values.set(key, value);
    }
    this.#entries.sort((a, b) => Buffer.compare(a.bytes, b.bytes));
  }

  set(key: string, value: T): void {
    if (!this.#values.has(key)) {
      const bytes = Buffer.from(key);
      this.#entries.splice(this.#lowerBound(bytes), 0, { key, bytes });
    }
    this.#values.set(key, value);
  }

  delete(key: string): boolean {
    if (!this.#values.delete(key)) return false;
    const bytes = Buffer.from(key);
    const index = this.#lowerBound(bytes);
    if (this.#entries[index]?.key === key) this.#entries.splice(index, 1);
    return true;
  }

  values(): IterableIterator<T> {
    return this.#values.values();
  }

  /**
   * Lists one page. With a delimiter, keys whose remainder after the prefix
   * contains it roll up into one common prefix, which counts once against
   * maxKeys. The keys behind a common prefix are skipped by binary search,
   * so a page costs O(page size × log n) however many keys share a prefix.
   */
  list(options: ListOptions): ListPage<T> {
    const prefix = options.prefix ?? "";
    const delimiter = options.delimiter || undefined;
    const page: ListPage<T> = { objects: [], commonPrefixes: [], isTruncated: false };

    let index = this.#lowerBound(Buffer.from(prefix));
    if (options.after !== undefined) {
      index = Math.max(index, this.#upperBound(Buffer.from(options.after)));
      // Resuming after a common prefix skips every key rolled up into it.
      const resumedPrefix = delimiter && commonPrefixOf(options.after, prefix, delimiter);
      if (resumedPrefix === options.after) {
        index = Math.max(index, this.#endOfPrefix(Buffer.from(resumedPrefix)));
      }
    }

    let count = 0;
    while (index < this.#entries.length) {
      const { key } = this.#entries[index];
      if (!key.startsWith(prefix)) break;

      const rolledUp = delimiter && commonPrefixOf(key, prefix, delimiter);
      if (count === options.maxKeys) {
        page.isTruncated = true;
        break;
      }
      count++;
      if (rolledUp) {
        page.commonPrefixes.push(rolledUp);
        page.lastItem = rolledUp;
        index = this.#endOfPrefix(Buffer.from(rolledUp));
        continue;
      }
      page.objects.push(this.#values.get(key) as T);
      page.lastItem = key;
      index++;
    }
    return page;
  }

  // First index whose key is >= bytes.
  #lowerBound(bytes: Buffer): number {
    let low = 0;
    let high = this.#entries.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (Buffer.compare(this.#entries[middle].bytes, bytes) < 0) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  // First index whose key is > bytes.
  #upperBound(bytes: Buffer): number {
    let low = 0;
    let high = this.#entries.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (Buffer.compare(this.#entries[middle].bytes, bytes) <= 0) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  // First index after every key that starts with prefixBytes.
  #endOfPrefix(prefixBytes: Buffer): number {
    let low = 0;
    let high = this.#entries.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      const head = this.#entries[middle].bytes.subarray(0, prefixBytes.length);
      if (Buffer.compare(head, prefixBytes) <= 0) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}

/** Returns the common prefix a key rolls up into, or undefined when it stays a key. */
function commonPrefixOf(key: string, prefix: string, delimiter: string): string | undefined {
  if (!key.startsWith(prefix)) return undefined;
  const position = key.indexOf(delimiter, prefix.length);
  if (position === -1) return undefined;
  return key.slice(0, position + delimiter.length);
}
