// Package listen keeps a PostgreSQL LISTEN connection open for a cache kept coherent
// with the database by notifications: it connects on its own connection, listens on one
// channel, pings when nothing is heard, and reconnects with backoff when the connection
// is lost, telling its owner when the cache may be trusted and until when.
package listen

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Timings. A listener pings the database after Heartbeat without a notification; what it
// vouches for is trusted for Lease after the database was last heard, so a connection
// that hangs without failing (a network partition) stops the cache within Lease. A lost
// connection is retried after RetryMin, doubling up to RetryMax.
const (
	Heartbeat = time.Second
	Lease     = 3 * time.Second
	RetryMin  = 50 * time.Millisecond
	RetryMax  = 5 * time.Second
)

// Listener listens on Channel and tells its owner what it hears through the callbacks.
// Every callback is required and is called from Run's goroutine only.
type Listener struct {
	// Channel is the notification channel.
	Channel string
	// Name names the listener in logs and errors ("session listener").
	Name string
	// Connect opens the listener's own connection (see Dial).
	Connect func(context.Context) (*pgx.Conn, error)
	// Live is called once the listener listens: a change committed from now on is
	// announced, and the database vouches for the cache until leaseUntil.
	Live func(leaseUntil time.Time)
	// Heard is called whenever the database answers (a notification or a ping): the
	// lease extends to leaseUntil.
	Heard func(leaseUntil time.Time)
	// Notify is called with each notification's payload, after Heard.
	Notify func(payload string)
	// Down is called whenever a connection attempt failed or a connection was lost: until
	// the next Live, changes may go unannounced.
	Down func()
	// Logger receives a line at each connection and disconnection.
	Logger *slog.Logger
}

// Dial returns a Connect that opens a connection configured like pool's, with
// application_name set to name so that it can be told apart in pg_stat_activity.
func Dial(pool *pgxpool.Pool, name string) func(context.Context) (*pgx.Conn, error) {
	return func(ctx context.Context) (*pgx.Conn, error) {
		cfg := pool.Config().ConnConfig.Copy()
		cfg.RuntimeParams["application_name"] = name
		return pgx.ConnectConfig(ctx, cfg)
	}
}

// Run listens until ctx ends, reconnecting whenever the connection is lost.
func (l Listener) Run(ctx context.Context) {
	retry := RetryMin
	for {
		connected, err := l.once(ctx)
		l.Down()
		if ctx.Err() != nil {
			return
		}
		if connected {
			retry = RetryMin
		}
		l.Logger.Warn(l.Name+" disconnected: the database is read until it is back",
			"channel", l.Channel, "err", err, "retry_in", retry)
		select {
		case <-ctx.Done():
			return
		case <-time.After(retry):
		}
		retry = min(retry*2, RetryMax)
	}
}

// once connects, listens and passes on notifications until the connection fails or ctx
// ends; connected reports whether it got as far as listening.
func (l Listener) once(ctx context.Context) (connected bool, err error) {
	conn, err := l.Connect(ctx)
	if err != nil {
		return false, fmt.Errorf("%s: connect: %w", l.Name, err)
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{l.Channel}.Sanitize()); err != nil {
		return false, fmt.Errorf("%s: listen: %w", l.Name, err)
	}
	// Only now, listening, may the cache start: a change committed from here on is announced.
	l.Live(time.Now().Add(Lease))
	l.Logger.Info(l.Name+" connected: the cache is in use", "channel", l.Channel)
	for {
		waitCtx, cancel := context.WithTimeout(ctx, Heartbeat)
		n, err := conn.WaitForNotification(waitCtx)
		cancel()
		switch {
		case err == nil:
			l.Heard(time.Now().Add(Lease))
			l.Notify(n.Payload)
		case ctx.Err() != nil:
			return true, nil
		case pgconn.Timeout(err) || errors.Is(err, context.DeadlineExceeded):
			if err := l.ping(ctx, conn); err != nil {
				return true, err
			}
		default:
			return true, fmt.Errorf("%s: wait: %w", l.Name, err)
		}
	}
}

// ping asks the connection for an answer within Heartbeat; an answer extends the lease.
func (l Listener) ping(ctx context.Context, conn *pgx.Conn) error {
	pingCtx, cancel := context.WithTimeout(ctx, Heartbeat)
	defer cancel()
	if err := conn.Ping(pingCtx); err != nil {
		return fmt.Errorf("%s: ping: %w", l.Name, err)
	}
	l.Heard(time.Now().Add(Lease))
	return nil
}
