#ifndef SWIM_SESSIONS_H
#define SWIM_SESSIONS_H

#include "swim_internal.h"

typedef enum { SWIM_EXECUTE, SWIM_REPLAY, SWIM_STALE } swim_window_verdict;

/* The session `id` names, marked active now; NULL when the board holds none by that id. */
swim_session *swim_find_session(swim_board *board, uint16_t id);
uint8_t swim_open_session(swim_board *board, const uint8_t *payload, uint8_t *out, uint32_t *out_length);
void swim_close_session(swim_session *session);
void swim_drop_sessions(swim_board *board);
/* Section 3.2's rule for a number in a session; *cached is set for SWIM_REPLAY. */
swim_window_verdict swim_window_check(const swim_session *session, uint32_t sequence, const swim_cached **cached);
void swim_remember(swim_session *session, uint32_t sequence, uint8_t opcode, uint8_t status, const uint8_t *payload,
                   uint32_t length);

#endif
