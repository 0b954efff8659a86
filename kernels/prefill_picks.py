"""Measured prefill tiles, one per shape class: the tile `prefill_attention` launches instead
of asking the autotuner, where a class matches.

Why: Triton's autotuner times each tile once per process, and at the bench shapes the tiles are
within its noise of each other, so its pick moved between runs (H200, 2026-12-04: 128x32 w4 at
1.521 ms in one run, 1.595 ms in another, while 128x64 w8 s3 timed alone took 1.358 ms). A pick
measured tile by tile (`benchmarks/gpu_prefill_tiles.py`, 20 calls each on rotated inputs, every
tile checked against the reference first) is stable and reproducible.

A class is the autotuner's key with the lengths bucketed: the device capability, the operands'
element size, the head dims, the group sizes, the mask flags, a minimum query length and, for
windows, a range of window sizes around the one measured. Shapes outside every class go to the
autotuner as before. `config` is `_config`'s arguments: BLOCK_M, BLOCK_N, warps, stages, PACK,
MERGE, WS (and TMA where an entry lists an eighth). Written by
`benchmarks/gpu_prefill_tiles.py --write-picks`; `measured` says where.
"""

PICKS = [{'match': {'capability': [9, 0],
            'elem': 2,
            'D1': 128,
            'D2': 0,
            'DV': 128,
            'GROUP': 1,
            'GROUP2': 1,
            'CAUSAL': True,
            'HAS_WINDOW': False,
            'HAS_SOFTCAP': False,
            'HAS_SINKS': False,
            'min_m': 2048,
            'window': [0, 0]},
  'config': [128, 32, 4, 3, 1, False, False],
  'measured': 'NVIDIA H100 80GB HBM3, 2026-12-07 16:11 UTC, B4 H32/Hkv32 D128 S4096: 1.489 ms '
              '(autotuned 1.589 ms)'},
 {'match': {'capability': [9, 0],
            'elem': 2,
            'D1': 128,
            'D2': 0,
            'DV': 128,
            'GROUP': 1,
            'GROUP2': 1,
            'CAUSAL': True,
            'HAS_WINDOW': True,
            'HAS_SOFTCAP': False,
            'HAS_SINKS': False,
            'min_m': 2048,
            'window': [256, 1024]},
  'config': [128, 32, 4, 3, 1, True, False],
  'measured': 'NVIDIA H100 80GB HBM3, 2026-12-07 16:11 UTC, B4 H32/Hkv32 D128 S4096 window '
              '512: 0.502 ms (autotuned 0.537 ms)'},
 {'match': {'capability': [9, 0],
            'elem': 2,
            'D1': 128,
            'D2': 0,
            'DV': 128,
            'GROUP': 4,
            'GROUP2': 4,
            'CAUSAL': True,
            'HAS_WINDOW': False,
            'HAS_SOFTCAP': False,
            'HAS_SINKS': False,
            'min_m': 2048,
            'window': [0, 0]},
  'config': [64, 64, 4, 3, 1, False, False],
  'measured': 'NVIDIA H100 80GB HBM3, 2026-12-07 16:11 UTC, B4 H32/Hkv8 D128 S4096: 1.187 ms '
              '(autotuned 1.352 ms)'},
 {'match': {'capability': [9, 0],
            'elem': 2,
            'D1': 128,
            'D2': 0,
            'DV': 128,
            'GROUP': 4,
            'GROUP2': 4,
            'CAUSAL': True,
            'HAS_WINDOW': True,
            'HAS_SOFTCAP': False,
            'HAS_SINKS': False,
            'min_m': 2048,
            'window': [256, 1024]},
  'config': [128, 32, 4, 3, 4, False, False],
  'measured': 'NVIDIA H100 80GB HBM3, 2026-12-07 16:11 UTC, B4 H32/Hkv8 D128 S4096 window 512: '
              '0.400 ms (autotuned 0.412 ms)'}]
