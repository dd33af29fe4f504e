package lmtp

import (
	"context"
	"sync"

	"letterbox/deliver"
)

// maxBatch bounds how many messages one append takes, so that the lock is
// not held for ever by a steady stream, and a failure answers at most this
// many deliveries.
const maxBatch = 256

// queues serialise in-process deliveries to each mbox and commit them in
// groups: a delivery to a mailbox that has an append running waits, and
// everything that waited is appended by the next append, under one lock
// with one fsync (deliver.AppendBatch).
type queues struct {
	ctx context.Context // the server's: ends only when it is closed hard

	mu sync.Mutex
	m  map[string]*queue
}

type queue struct {
	pending []*job
}

type job struct {
	p    *deliver.Prepared
	done chan error
}

// appendMbox appends p to the mbox key names and returns once it is durable
// or has failed: the error is AppendBatch's for the batch that held p.
func (q *queues) appendMbox(key string, p *deliver.Prepared) error {
	j := &job{p: p, done: make(chan error, 1)}
	q.mu.Lock()
	mq := q.m[key]
	if mq == nil {
		// No append is running for this mailbox: start the leader, which
		// appends what is queued until the queue is empty.
		mq = &queue{}
		q.m[key] = mq
		go q.lead(key, mq)
	}
	mq.pending = append(mq.pending, j)
	q.mu.Unlock()
	return <-j.done
}

// lead appends the queue of key batch by batch until it is empty, then
// removes it; a delivery arriving after that starts a new leader.
func (q *queues) lead(key string, mq *queue) {
	for {
		q.mu.Lock()
		n := min(len(mq.pending), maxBatch)
		batch := mq.pending[:n:n]
		mq.pending = mq.pending[n:]
		if n == 0 {
			delete(q.m, key)
			q.mu.Unlock()
			return
		}
		q.mu.Unlock()
		ps := make([]*deliver.Prepared, n)
		for i, j := range batch {
			ps[i] = j.p
		}
		errs := deliver.AppendBatch(q.ctx, ps)
		for i, j := range batch {
			j.done <- errs[i]
		}
	}
}
