"""People: readers (guests, WeChat identities, merging), the creator, sessions and sign-in."""
