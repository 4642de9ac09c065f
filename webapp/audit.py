"""The access history a patient can read. Append-only: this module has no update or delete."""
