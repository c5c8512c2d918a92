"""The catalog: what is for sale, how it is edited, covers and rich text, and who may read it."""
