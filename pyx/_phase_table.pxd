# One row of a phase table: the kernels' view of suite.geometry.phase_table and
# collapsed_phase_table, C-contiguous (phases, 5) intp arrays whose columns are, in order,
# suite.geometry.PHASE_COLUMNS (_phase.phase_row_fields() returns this struct's fields for
# the test that keeps the two in step). A kernel reads row r of a table as
#     (<const PhaseRow*> &table[0, 0])[r].count

cdef struct PhaseRow:
    Py_ssize_t taps         # taps of the phase's sub-kernel along the axis (0: none reach it)
    Py_ssize_t first        # the first kernel tap of the phase
    Py_ssize_t pad          # padding of the phase's stride-1 correlation
    Py_ssize_t count        # outputs in the phase
    Py_ssize_t first_out    # the phase's first output index; the next ones are a stride apart
