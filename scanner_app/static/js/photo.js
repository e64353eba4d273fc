// A photo for evidence, made small on the phone: at most 1600 px on its long side, as a
// JPEG of at most 5 MB (the API's limit), whatever the camera or file gave.

export const LONG_SIDE = 1600;
export const MAX_BYTES = 5 * 1024 * 1024;
// Files bigger than this are not even decoded (a phone would run out of memory).
const MAX_INPUT_BYTES = 40 * 1024 * 1024;

export class PhotoProblem extends Error {}

export async function resizePhoto(file) {
  if (file.size > MAX_INPUT_BYTES) throw new PhotoProblem("photo_too_large");
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  } catch (_) {
    throw new PhotoProblem("photo_not_image");
  }
  const scale = Math.min(1, LONG_SIDE / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.round(bitmap.width * scale));
  canvas.height = Math.max(1, Math.round(bitmap.height * scale));
  canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  for (const quality of [0.85, 0.7, 0.5]) {
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", quality));
    if (blob && blob.size <= MAX_BYTES) return blob;
  }
  throw new PhotoProblem("photo_too_large");
}
