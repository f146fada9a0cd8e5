/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * KVMFR v20: what Looking Glass B7 puts on top of LGMP (../shared/spec/kvmfr.md).
 * Pure functions over memory; the reader side copies every header out of the
 * region before checking it and returns a distinct status for each rejection.
 *
 * One header per job; this one includes them all for code that uses several.
 */
#include "kvmfr_wire.h"   /* sizes, counts, wire structs and their enum values */
#include "kvmfr_status.h" /* why a check refused the peer's bytes */
#include "kvmfr_info.h"   /* application data: header, VM and OS records */
#include "kvmfr_layout.h" /* where B7 puts the rings and buffers */
#include "kvmfr_frame.h"  /* frame messages and the progress word */
#include "kvmfr_cursor.h" /* cursor messages and shapes */
#include "kvmfr_msg.h"    /* SET_CURSOR_POS */
