//! JSON text exactly as Python's `json.dumps(x, indent=2)` writes it. Being written.
