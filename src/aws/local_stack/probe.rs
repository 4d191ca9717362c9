//! Probing a source file into the solution's `srcMediainfo` shape (contract §6, §10). Being written.
