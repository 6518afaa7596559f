package session

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Channel is the PostgreSQL notification channel on which the database announces changed
// and ended sessions and changed operators (migration 00012): a payload is the hex of a
// session's stored SHA-256, "op:<operator id>", or "*" for everything.
const Channel = "console_sessions"

// ListenerName is the application_name of the listener's connection, so that it can be
// told apart in pg_stat_activity.
const ListenerName = "console session listener"

// Listener timings. The listener pings the database after heartbeat without a
// notification; the cache is trusted for lease after the database was last heard, so a
// connection that hangs without failing (a network partition) stops the cache within
// lease. A lost connection is retried after retryMin, doubling up to retryMax.
const (
	heartbeat = time.Second
	lease     = 3 * time.Second
	retryMin  = 50 * time.Millisecond
	retryMax  = 5 * time.Second
)

// Listen keeps the Store's cache of validated sessions coherent with the database until
// ctx ends: on its own connection it listens on Channel and drops what each notification
// names. Sessions are cached only while it is connected; when its connection is lost,
// every load reads the database until it has connected again, and then starts from an
// empty cache (notifications may have been missed meanwhile). Without Listen running, a
// Store reads the database on every load.
func (s *Store) Listen(ctx context.Context, logger *slog.Logger) {
	s.listen(ctx, s.dial, logger)
}

// dial opens the listener's own connection, configured like the pool's.
func (s *Store) dial(ctx context.Context) (*pgx.Conn, error) {
	cfg := s.pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] = ListenerName
	return pgx.ConnectConfig(ctx, cfg)
}

func (s *Store) listen(ctx context.Context, connect func(context.Context) (*pgx.Conn, error), logger *slog.Logger) {
	retry := retryMin
	for {
		connected, err := s.listenOnce(ctx, connect, logger)
		s.cache.setLive(false, time.Time{})
		if ctx.Err() != nil {
			return
		}
		if connected {
			retry = retryMin
		}
		logger.Warn("session listener disconnected: sessions are read from the database until it is back",
			"err", err, "retry_in", retry)
		select {
		case <-ctx.Done():
			return
		case <-time.After(retry):
		}
		retry = min(retry*2, retryMax)
	}
}

// listenOnce connects, listens and applies notifications until the connection fails or
// ctx ends; connected reports whether it got as far as listening.
func (s *Store) listenOnce(ctx context.Context, connect func(context.Context) (*pgx.Conn, error), logger *slog.Logger) (connected bool, err error) {
	conn, err := connect(ctx)
	if err != nil {
		return false, fmt.Errorf("session: listener: connect: %w", err)
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{Channel}.Sanitize()); err != nil {
		return false, fmt.Errorf("session: listener: listen: %w", err)
	}
	// Only now, listening, may the cache start: a change committed from here on is announced.
	s.cache.setLive(true, time.Now().Add(lease))
	logger.Info("session listener connected: validated sessions are cached", "channel", Channel)
	for {
		waitCtx, cancel := context.WithTimeout(ctx, heartbeat)
		n, err := conn.WaitForNotification(waitCtx)
		cancel()
		switch {
		case err == nil:
			s.cache.extendLease(time.Now().Add(lease))
			s.apply(n.Payload)
		case ctx.Err() != nil:
			return true, nil
		case pgconn.Timeout(err) || errors.Is(err, context.DeadlineExceeded):
			if err := s.ping(ctx, conn); err != nil {
				return true, err
			}
		default:
			return true, fmt.Errorf("session: listener: wait: %w", err)
		}
	}
}

// ping asks the listener's connection for an answer within heartbeat; an answer extends
// the cache's lease.
func (s *Store) ping(ctx context.Context, conn *pgx.Conn) error {
	pingCtx, cancel := context.WithTimeout(ctx, heartbeat)
	defer cancel()
	if err := conn.Ping(pingCtx); err != nil {
		return fmt.Errorf("session: listener: ping: %w", err)
	}
	s.cache.extendLease(time.Now().Add(lease))
	return nil
}

// apply drops what a notification names; a payload it does not understand drops
// everything.
func (s *Store) apply(payload string) {
	if rest, ok := strings.CutPrefix(payload, "op:"); ok {
		if id, err := strconv.ParseInt(rest, 10, 64); err == nil {
			s.cache.dropOperator(id)
			return
		}
	}
	var k key
	if len(payload) == 2*len(k) {
		if _, err := hex.Decode(k[:], []byte(payload)); err == nil {
			s.cache.dropSession(k)
			return
		}
	}
	s.cache.dropAll()
}
