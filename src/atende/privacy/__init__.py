"""LGPD support that is neither an action nor a pure rule: preview masking on the way out, keyed
identity hashes, the data-subject export."""
