/**
 * The tcp emulation of the transport SPI: everything of an endpoint runs on the thread that polls
 * its completion queue (posting writes to the socket at once; polling reads, validates and applies
 * frames, acknowledges them and raises completions), so there are no locks and no background
 * threads; only connection setup and the registration table are touched by other threads.
 *
 * <p>Semantics follow verbs RC: in-order delivery, a send or write completes when the peer has
 * placed it (cumulative acknowledgements), a send or write with immediate waits while the
 * receiver has no receive posted (the stream stalls, as RNR retry does), and a broken connection
 * flushes what is outstanding with error statuses. Wire format: {@link io.dsf.rdma.protocol}.
 */
package io.dsf.rdma.tcp;
