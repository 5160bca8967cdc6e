"""Media files (what customers send and agents attach): storage and upload rules.

The bytes live in a `MediaStore` (a local directory by default); the `media` table keeps one row
per stored file, written only by `atende.actions.media`.
"""

from atende.media.policy import MediaRejected, check_upload, kind_for_mime, normalize_mime
from atende.media.store import LocalMediaStore, MediaStore, StoredFile

__all__ = [
    "LocalMediaStore",
    "MediaRejected",
    "MediaStore",
    "StoredFile",
    "check_upload",
    "kind_for_mime",
    "normalize_mime",
]
