"""The hostile-input suite: what a careless user or an attacker can hand ktrun.

Four groups, one module each (plus the bad-config corpus in `tests/configs/test_bad_configs.py`,
which counts towards the config group):

- `test_config.py`: malformed configs and overrides, on the run path as much as in `check`;
- `test_data.py`: malformed, missing, huge or hostile data files;
- `test_state.py`: damaged state, full or read-only disks, locks, signals;
- `test_trust.py`: configs that try to run code, read files or secrets, hang, or inject output.

Every case asserts the exit code (or the problem list, in-process), that no traceback is printed,
the problem code, where it points (key path and file:line, or the override) and that it has a hint.
`expect.py` holds those assertions, so every case asserts all of them the same way.
"""
