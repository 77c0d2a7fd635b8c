"""Answers of moto that the front corrects so that they read as real S3's.

ListMultipartUploads: real S3 gives each in-progress upload the time CreateMultipartUpload started it
(``Initiated``); moto 5 answers the same fixed date, 2010-11-10T20:48:33.000Z, for every upload, so any
"abort uploads older than N hours" logic would see every upload as fourteen years old and abort one that
is still being written. The front notes when each upload was created (it sees every CreateMultipartUpload)
and writes that time into moto's listing.
"""

import datetime
import re
import threading

UPLOAD_ID = re.compile(rb"<UploadId>([^<]+)</UploadId>")
UPLOAD = re.compile(rb"<Upload>.*?</Upload>", re.S)
INITIATED = re.compile(rb"<Initiated>[^<]*</Initiated>")


def now_text():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class UploadTimes:
    """When each multipart upload was initiated, by upload id."""

    def __init__(self):
        self._lock = threading.Lock()
        self._times = {}

    def created(self, body):
        """Record the upload of a CreateMultipartUpload answer, initiated now."""
        match = UPLOAD_ID.search(body)
        if match:
            with self._lock:
                self._times[match.group(1)] = now_text().encode()

    def listing(self, body):
        """A ListMultipartUploads answer with each upload's real initiation time (unknown uploads unchanged)."""
        def fix(upload):
            text = upload.group(0)
            match = UPLOAD_ID.search(text)
            with self._lock:
                when = self._times.get(match.group(1)) if match else None
            return INITIATED.sub(b"<Initiated>" + when + b"</Initiated>", text) if when else text

        return UPLOAD.sub(fix, body)


CORRECTED = ("CreateMultipartUpload", "ListMultipartUploads")
