//! The local stack's "CloudFront": a loopback HTTP server for the destination bucket. Being written.
