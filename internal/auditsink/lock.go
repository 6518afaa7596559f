package auditsink

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// LockKey is the session-level advisory lock held by the one replica that ships
// ("auditshp" in ASCII).
const LockKey int64 = 0x6175646974736870

// shipLock is the shipping lock, held on a connection of its own opened outside the
// pool: a session-level lock lives as long as its connection, so a replica that dies
// (its connection closes, or the server's keepalives give up on it) frees it.
type shipLock struct {
	conn *pgx.Conn
}

// tryLock opens a dedicated connection and tries the lock once; nil, nil means another
// replica holds it.
func tryLock(ctx context.Context, pool *pgxpool.Pool) (*shipLock, error) {
	cfg := pool.Config().ConnConfig.Copy()
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	// The server gives up on a silent holder (a host gone, a cut network) within about
	// 5 + 3×2 s, well inside the 15 s another replica has to take over.
	cfg.RuntimeParams["tcp_keepalives_idle"] = "5"
	cfg.RuntimeParams["tcp_keepalives_interval"] = "2"
	cfg.RuntimeParams["tcp_keepalives_count"] = "3"
	cfg.RuntimeParams["application_name"] = "console audit shipper"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("auditsink: connect for the shipping lock: %w", err)
	}
	var got bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", LockKey).Scan(&got); err != nil {
		_ = conn.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("auditsink: try the shipping lock: %w", err)
	}
	if !got {
		_ = conn.Close(context.WithoutCancel(ctx))
		return nil, nil
	}
	return &shipLock{conn: conn}, nil
}

// alive checks that the lock's connection still answers; a holder whose connection broke
// may have lost the lock to another replica and must stop shipping.
func (l *shipLock) alive(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := l.conn.Ping(ctx); err != nil {
		return fmt.Errorf("auditsink: shipping lock connection: %w", err)
	}
	return nil
}

// release closes the connection, which ends the session and frees the lock.
func (l *shipLock) release() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = l.conn.Close(ctx)
}
