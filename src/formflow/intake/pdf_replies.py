"""What the PDF-reading child answers instead of fields, shared by ``pdf_reader`` (the
service) and ``_pdf_worker`` (the child), so the child never imports the reader."""

REPLY_ENCRYPTED = "encrypted"
REPLY_DAMAGED = "damaged"
