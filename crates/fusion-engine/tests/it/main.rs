//! Integration tests of the sync engine against in-memory fakes of both ports.
