//! One heap object as every view describes it.
