/*
 * ops: the Ring API's operations: building them (the constructors in nu.h,
 * which prepare each op's SQE) and handing each to the ring.
 */
#ifndef NU_OPS_H
#define NU_OPS_H

#include <liburing.h>

#include "nu.h"

/* Frees op and every op linked after it. */
void nu_op_list_free(struct nu_op *op);

/* Fills sqe from op, which must stay allocated until its CQE arrives. */
void nu_op_prep(struct io_uring_sqe *sqe, struct nu_op *op);

#endif
