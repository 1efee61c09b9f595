"""The shared core every stage imports and none owns: stimulus positions, the shared
statistics, the reported-number type and the run record."""
