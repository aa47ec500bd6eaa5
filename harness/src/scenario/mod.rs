//! Scenario files, the replay engine, transcripts and their redactions.
