// Package jetstore is Wren's optional durable stream layer: streams stored in
// a write-ahead log, consumers with acks and redelivery, and the JetStream API
// subset that NATS clients use.
//
// It is a client of the broker: it declares the Bus interface it needs
// (bus.go) and imports only protocol and its own storage engine,
// jetstore/store, never server. Streams, consumers and the API live here
// together because they depend on each other by nature; the engine knows
// none of them.
//
// # Goroutines
//
// Who runs what, and who owns which state:
//
//   - Bus handlers run on the publisher's goroutine (a client's read loop,
//     or the stream layer's own publishes). They only copy the message and
//     hand it off: to a stream's ingest queue (stream_ingest.go), a
//     consumer's inbox (acks, pull requests, flow control replies), the API
//     queue or the replay queue. They never block on disk or on another
//     lock than the queue's.
//   - The API pool (api_pool.go) serves $JS.API requests on a bounded set
//     of workers, in two lanes (general, and info/names/lists), each with
//     a bounded queue (request_queue_limit, info_queue_limit; api_limit.go
//     answers what does not fit). It creates and deletes streams under
//     js.mu, and hands changes to a stream's messages and consumers to
//     that stream's writer (stream.do).
//   - The replay loop (one per JetStream, deadletter.go) serves dead-letter
//     replays, which may wait for the target stream's PubAcks.
//   - Each stream's writer goroutine (stream.run) applies every change to
//     its stream, one at a time: group commits of published messages
//     (admission, one Append, then the PubAcks), deletes, purges, config
//     updates, limits, removals queued by consumers (work-queue and
//     interest retention), max age and TTL expiry on a one-second tick,
//     store retries after a write failure (stream_fault.go), and consumer
//     creation, so a new consumer picks its start while nothing is stored.
//     It alone writes to the stream's store and owns fault, batches and
//     the scratch buffers, holding the writer role (st.wmu) while it
//     works. The one exception is the inline commit (stream_inline.go): at
//     the end of a client's read buffer, when that read drained the
//     socket, the client's read loop takes the role if it is free
//     (TryLock, never waiting) and stores what is queued itself, as the
//     writer would; nothing is stored once the writer has stopped.
//   - Each consumer's goroutine (consumer.run) owns its delivery state:
//     it drains its inbox, applies acks, serves pull requests, pushes,
//     redelivers when an ack wait or backoff runs out, sends heartbeats
//     and writes its state log, waking on its inbox or its one timer
//     (nextWake). It reads the stream's store, never writes it; removals
//     go through the stream's removal queue.
//   - A consumer whose inactive threshold passed is deleted on a goroutine
//     of its own, so that its goroutine can be stopped.
//   - The WAL store under SyncInterval has a background fsync goroutine
//     (jetstore/store).
//   - Each forward (forward*.go) has a goroutine that reads its stream's
//     store, publishes to the hub, takes PubAcks and keeps the window, and
//     one that writes its cursor file. Each pull (pull.go) has one
//     goroutine that asks the hub for batches and stores each message
//     through the stream's ingest queue before acking it upstream. Their
//     bus handlers only copy and queue, as above. A forward or pull is
//     closed (by its owner, before Close) with its own Close.
//
// Close stops them in order: the API subscription and the consumer layer,
// then the API and replay loops, then each stream (writer, consumers,
// store). Every goroutine above has ended when it returns.
//
// # Locks
//
//   - js.mu guards the streams map; hot paths read js.view, an immutable
//     copy, instead.
//   - st.mu (per stream) guards what other goroutines read of a stream:
//     its config, subject index, dedup index, TTL schedule and consumers
//     map. Only the writer changes them.
//   - c.mu (per consumer) guards the consumer's delivery state.
//   - The queues' own mutexes (ingest queue, consumer inbox, removal
//     queue) and the store's locks are leaves: held briefly, nothing is
//     taken under them.
//
// Lock order: js.mu before st.mu; c.mu before st.mu (a consumer reads
// the subject index while it delivers); any of them before a leaf. A
// stream never takes c.mu while it holds st.mu: it copies the consumers
// it needs under st.mu and locks each afterwards. A consumer publishes its
// deliveries with c.mu held, which is why bus handlers never take c.mu
// but queue to the inbox. A stream's writer publishes its PubAcks with no
// lock held, and holds none across a store Append's fsync but the
// store's own.
package jetstore
