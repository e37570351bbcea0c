/* hold.h — shared by the e2e gateway and agent (TEST ONLY). */
#ifndef CRABBOX_E2E_HOLD_H
#define CRABBOX_E2E_HOLD_H

/* hold_until_peer_closes: read and drop whatever the peer sends, never answering, until it closes
 * the connection (or max_s seconds pass). A hang that ends with its client, so no harness process
 * outlives the test. */
void hold_until_peer_closes(int fd, int max_s);

#endif
