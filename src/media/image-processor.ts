/**
 * Image re-encoding with sharp: auto-rotate, fit inside `maxSide` pixels, re-encode
 * (which also drops EXIF metadata such as GPS position). A file that does not decode
 * as an image is refused. Decompression bombs are bounded by `limitInputPixels`.
 */
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { MediaError } from './media-client.ts';

/** Resized and re-encoded JPEG or PNG; null for formats kept as received (WebP stickers, GIF). */
export async function processImage(file: string, mimeType: string, maxSide: number): Promise<{ body: Buffer; mimeType: string } | null> {
  if (mimeType !== 'image/jpeg' && mimeType !== 'image/png') return null;
  try {
    const image = sharp(await readFile(file), { limitInputPixels: 50_000_000, failOn: 'error' })
      .rotate()
      .resize({ width: maxSide, height: maxSide, fit: 'inside', withoutEnlargement: true });
    const body = mimeType === 'image/png' ? await image.png({ compressionLevel: 9 }).toBuffer() : await image.jpeg({ quality: 82, mozjpeg: true }).toBuffer();
    return { body, mimeType };
  } catch (err) {
    throw new MediaError(`not a valid image: ${(err as Error).message.slice(0, 120)}`, true);
  }
}
