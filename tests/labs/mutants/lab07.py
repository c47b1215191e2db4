"""Near-solutions of lab 07 (tinytorch.app.labs.mutation): each must fail a graded test."""
from tinytorch.app.labs.mutation import Mutant

MUTANTS = [
    Mutant("the reordered kernel assigns each product instead of adding it, so out keeps only "
           "the last inner index's term", "kernels/gemm.py", "_reordered_ikj", """
for i in range(rows):
    for p in range(inner):
        a_ip = a[i, p]
        for j in range(columns):
            out[i, j] = a_ip * b[p, j]
"""),
    Mutant("_multiply_block runs the inner index from 0 instead of inner_start, so every "
           "earlier inner tile is added again", "kernels/gemm.py", "_multiply_block", """
for i in range(row_start, row_stop):
    out_row = out[i]
    for p in range(inner_stop):
        a_ip = a[i, p]
        b_row = b[p]
        for j in range(columns):
            out_row[j] += a_ip * b_row[j]
"""),
    Mutant("_multiply_block reads a's column p from the block's first row for every row",
           "kernels/gemm.py", "_multiply_block", """
for i in range(row_start, row_stop):
    out_row = out[i]
    for p in range(inner_start, inner_stop):
        a_ip = a[row_start, p]
        b_row = b[p]
        for j in range(columns):
            out_row[j] += a_ip * b_row[j]
"""),
    Mutant("the tiled kernel counts only whole row tiles and drops the last, partial one",
           "kernels/gemm.py", "_tiled", """
for row_start in range(0, rows - tile_size + 1, tile_size):
    row_stop = row_start + tile_size
    for inner_start in range(0, inner, tile_size):
        inner_stop = min(inner_start + tile_size, inner)
        _multiply_block(a, b, out, row_start, row_stop, inner_start, inner_stop)
"""),
    Mutant("the parallel kernel rounds the number of row tiles down (rows // tile_size)",
           "kernels/gemm.py", "_parallel_tiled", """
row_tiles = rows // tile_size
for tile in prange(row_tiles):
    row_start = tile * tile_size
    row_stop = min(row_start + tile_size, rows)
    for inner_start in range(0, inner, tile_size):
        inner_stop = min(inner_start + tile_size, inner)
        _multiply_block(a, b, out, row_start, row_stop, inner_start, inner_stop)
"""),
    Mutant("the parallel kernel multiplies only the first inner tile of each row tile",
           "kernels/gemm.py", "_parallel_tiled", """
row_tiles = (rows + tile_size - 1) // tile_size
for tile in prange(row_tiles):
    row_start = tile * tile_size
    row_stop = min(row_start + tile_size, rows)
    _multiply_block(a, b, out, row_start, row_stop, 0, min(tile_size, inner))
"""),
]
