"""Near-solutions of lab 06 (tinytorch.app.labs.mutation): each must fail a graded test."""
from tinytorch.app.labs.mutation import Mutant

MUTANTS = [
    Mutant("output_size forgets the dilation: the kernel spans kernel positions, not "
           "dilation * (kernel - 1) + 1", "kernels/conv2d.py", "output_size", """
return (size + 2 * padding - kernel) // stride + 1
"""),
    Mutant("im2col adds the padding instead of subtracting it, so every window is shifted",
           "kernels/conv2d.py", "im2col", """
for n in prange(batch):
    for c in range(channels):
        for i in range(kernel_h):
            for j in range(kernel_w):
                row = (c * kernel_h + i) * kernel_w + j
                for y in range(out_h):
                    source_y = y * stride_h + pad_h + i * dilation_h
                    if source_y < 0 or source_y >= height:
                        continue
                    for x_out in range(out_w):
                        source_x = x_out * stride_w + pad_w + j * dilation_w
                        if 0 <= source_x < width:
                            cols[n, row, y * out_w + x_out] = x[n, c, source_y, source_x]
"""),
    Mutant("col2im assigns each column entry to its pixel instead of adding it, so a pixel "
           "read by several windows keeps only the last one", "kernels/conv2d.py", "col2im", """
for n in prange(batch):
    for c in range(channels):
        for i in range(kernel_h):
            for j in range(kernel_w):
                row = (c * kernel_h + i) * kernel_w + j
                for y in range(out_h):
                    source_y = y * stride_h - pad_h + i * dilation_h
                    if source_y < 0 or source_y >= height:
                        continue
                    for x_out in range(out_w):
                        source_x = x_out * stride_w - pad_w + j * dilation_w
                        if 0 <= source_x < width:
                            image[n, c, source_y, source_x] = cols[n, row, y * out_w + x_out]
"""),
    Mutant("max pooling starts each window's maximum at 0, as if padding were zeros: a window "
           "of negative values reports 0 and no position", "kernels/pooling.py",
           "_max_pool_planes", """
for p in prange(count):
    for y in range(out_h):
        for x in range(out_w):
            best = 0.0
            best_index = -1
            for i in range(kernel_h):
                source_y = y * stride_h - pad_h + i
                if source_y < 0 or source_y >= height:
                    continue
                for j in range(kernel_w):
                    source_x = x * stride_w - pad_w + j
                    if 0 <= source_x < width:
                        value = planes[p, source_y, source_x]
                        if not value <= best:
                            best = value
                            best_index = source_y * width + source_x
            out[p, y, x] = best
            indices[p, y, x] = best_index
"""),
    Mutant("max pooling keeps the last of tied maxima (>= instead of >)", "kernels/pooling.py",
           "_max_pool_planes", """
for p in prange(count):
    for y in range(out_h):
        for x in range(out_w):
            best = -np.inf
            best_index = -1
            for i in range(kernel_h):
                source_y = y * stride_h - pad_h + i
                if source_y < 0 or source_y >= height:
                    continue
                for j in range(kernel_w):
                    source_x = x * stride_w - pad_w + j
                    if 0 <= source_x < width:
                        value = planes[p, source_y, source_x]
                        if best_index < 0 or value >= best:
                            best = value
                            best_index = source_y * width + source_x
            out[p, y, x] = best
            indices[p, y, x] = best_index
"""),
    Mutant("the max-pool backward assigns each gradient at its index instead of adding it, so an "
           "input that wins several windows keeps one gradient", "kernels/pooling.py",
           "_max_pool_backward_planes", """
for p in prange(count):
    for y in range(out_h):
        for x in range(out_w):
            grad_input[p, indices[p, y, x]] = grad_planes[p, y, x]
"""),
]
