//! Integration tests of the payload analyser: training a model on a small corpus and the
//! verdicts it gives, through the public API only.

mod training;
