// Package localdb runs a private PostgreSQL cluster from the machine's PostgreSQL
// binaries: the console's own database for `make run`, and throwaway clusters for tests.
// As root it runs the server as the `postgres` OS user, since initdb refuses root.
package localdb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// DefaultBinDir is where Debian installs the PostgreSQL 15 server binaries.
const DefaultBinDir = "/usr/lib/postgresql/15/bin"

// Options say where and how the cluster runs.
type Options struct {
	// Dir holds the cluster: Dir/data, Dir/postgres.log. Created when missing.
	Dir string
	// BinDir holds initdb, pg_ctl and postgres. Empty means DefaultBinDir, or the
	// directory of `pg_ctl` on PATH when DefaultBinDir does not exist.
	BinDir string
	// Throwaway turns off fsync and synchronous commit: for tests only, never for data
	// that must survive a crash.
	Throwaway bool
	// Database is created when missing, owned by OwnerRole; empty means "console".
	// "postgres" (the maintenance database) asks for the server alone: it is neither
	// created nor handed to OwnerRole.
	Database string
}

// The roles every private cluster has besides the superuser `postgres`, as a production
// database should: OwnerRole owns the console's database and every table in it and runs
// the migrations; ServingRole is the one the console serves as, owning nothing and holding
// only the privileges the migrator grants it. Both log in without a password (the cluster
// trusts local connections).
const (
	OwnerRole   = "console_owner"
	ServingRole = "console_app"
)

// Cluster is a running private PostgreSQL server listening on 127.0.0.1 and, when the
// path is short enough for one, on a Unix socket in Dir, which its URLs then use: on the
// same machine a socket costs less per round trip than TCP.
type Cluster struct {
	opts   Options
	port   int
	socket string // the directory of the server's Unix socket; empty means TCP only
	cred   *syscall.Credential
	// shared is true when the server was already running (started by another console
	// process on the same data): Stop then leaves it running.
	shared bool
}

// Start creates the cluster when Dir holds none, starts it on a free loopback port and
// makes sure the database exists.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.Database == "" {
		opts.Database = "console"
	}
	bin, err := findBinDir(opts.BinDir)
	if err != nil {
		return nil, err
	}
	opts.BinDir = bin
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("localdb: resolve %s: %w", opts.Dir, err)
	}
	opts.Dir = dir
	c := &Cluster{opts: opts}
	if os.Geteuid() == 0 {
		if c.cred, err = postgresCredential(); err != nil {
			return nil, err
		}
	}
	if err := c.prepareDir(); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(c.dataDir(), "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		if err := c.initdb(ctx); err != nil {
			return nil, err
		}
	}
	if port, socket, ok := c.running(ctx); ok {
		c.port, c.socket, c.shared = port, socket, true
		return c, c.createDatabase(ctx)
	}
	if c.port, err = freePort(); err != nil {
		return nil, err
	}
	if socketFits(c.opts.Dir, c.port) {
		c.socket = c.opts.Dir
	}
	if err := c.start(ctx); err != nil {
		return nil, err
	}
	if err := c.createDatabase(ctx); err != nil {
		_ = c.Stop()
		return nil, err
	}
	return c, nil
}

// URL is a superuser connection string for the cluster's database.
func (c *Cluster) URL() string { return c.URLFor(c.opts.Database) }

// URLFor is a superuser connection string for another database in the cluster.
func (c *Cluster) URLFor(database string) string { return c.URLAs("postgres", database) }

// OwnerURL is the connection string of OwnerRole, the migrator, for the cluster's database.
func (c *Cluster) OwnerURL() string { return c.URLAs(OwnerRole, c.opts.Database) }

// ServingURL is the connection string of ServingRole, the role the console serves as.
func (c *Cluster) ServingURL() string { return c.URLAs(ServingRole, c.opts.Database) }

// URLAs is a connection string for role to database; the cluster trusts local
// connections, so it carries no password.
func (c *Cluster) URLAs(role, database string) string {
	if c.socket != "" {
		return fmt.Sprintf("postgres://%s@/%s?host=%s&port=%d&sslmode=disable", role, database, url.QueryEscape(c.socket), c.port)
	}
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", role, c.port, database)
}

// maxSocketPath is the longest path a Unix socket may have on Linux (sun_path less its
// terminating zero).
const maxSocketPath = 107

// socketFits reports whether the server's socket in dir has a path short enough, and
// dir a name the server's option string can carry.
func socketFits(dir string, port int) bool {
	name := filepath.Join(dir, ".s.PGSQL."+strconv.Itoa(port))
	return len(name) <= maxSocketPath && !strings.ContainsAny(dir, "'\\\"")
}

// Stop shuts the server down, letting it finish cleanly. A server this process found
// already running is left running.
func (c *Cluster) Stop() error {
	if c.shared {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := c.run(ctx, "pg_ctl", "-D", c.dataDir(), "-m", "fast", "-w", "stop"); err != nil {
		return fmt.Errorf("localdb: stop: %w: %s", err, out)
	}
	return nil
}

// running reports the port and socket directory (empty when it has no socket) of a server
// already running on this data directory.
func (c *Cluster) running(ctx context.Context) (port int, socket string, ok bool) {
	if _, err := c.run(ctx, "pg_ctl", "-D", c.dataDir(), "status"); err != nil {
		return 0, "", false
	}
	pid, err := os.ReadFile(filepath.Join(c.dataDir(), "postmaster.pid"))
	if err != nil {
		return 0, "", false
	}
	lines := strings.Split(string(pid), "\n")
	if len(lines) < 5 {
		return 0, "", false
	}
	port, err = strconv.Atoi(strings.TrimSpace(lines[3]))
	return port, strings.TrimSpace(lines[4]), err == nil
}

func (c *Cluster) dataDir() string { return filepath.Join(c.opts.Dir, "data") }

func (c *Cluster) prepareDir() error {
	if err := os.MkdirAll(c.opts.Dir, 0o700); err != nil {
		return fmt.Errorf("localdb: create %s: %w", c.opts.Dir, err)
	}
	if c.cred == nil {
		return nil
	}
	if err := os.Chown(c.opts.Dir, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
		return fmt.Errorf("localdb: hand %s to the postgres user: %w", c.opts.Dir, err)
	}
	// The postgres user must be able to reach the directory through its parents.
	for p := filepath.Dir(c.opts.Dir); p != "/"; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("localdb: %w", err)
		}
		if fi.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(p, fi.Mode().Perm()|0o011); err != nil {
				return fmt.Errorf("localdb: open %s to the postgres user: %w", p, err)
			}
		}
	}
	return nil
}

func (c *Cluster) initdb(ctx context.Context) error {
	out, err := c.run(ctx, "initdb", "-D", c.dataDir(), "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--locale=C", "--no-sync")
	if err != nil {
		return fmt.Errorf("localdb: initdb: %w: %s", err, out)
	}
	return nil
}

func (c *Cluster) start(ctx context.Context) error {
	settings := fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -c unix_socket_directories='%s'", c.port, c.socket)
	if c.opts.Throwaway {
		settings += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
	}
	logFile := filepath.Join(c.opts.Dir, "postgres.log")
	out, err := c.run(ctx, "pg_ctl", "-D", c.dataDir(), "-l", logFile, "-w", "-t", "60", "-o", settings, "start")
	if err != nil {
		tail, _ := os.ReadFile(logFile)
		if len(tail) > 2000 {
			tail = tail[len(tail)-2000:]
		}
		return fmt.Errorf("localdb: start: %w: %s\n%s", err, out, tail)
	}
	return nil
}

// createDatabase makes sure both roles exist and the console's database exists, owned by
// OwnerRole along with everything in it.
func (c *Cluster) createDatabase(ctx context.Context) error {
	if err := c.psql(ctx, "postgres", createRolesSQL); err != nil {
		return fmt.Errorf("localdb: create roles: %w", err)
	}
	if c.opts.Database == "postgres" {
		return nil
	}
	out, err := c.run(ctx, "psql", "-h", "127.0.0.1", "-p", strconv.Itoa(c.port), "-U", "postgres",
		"-d", "postgres", "-tAc", "SELECT 1 FROM pg_database WHERE datname = '"+c.opts.Database+"'")
	if err != nil {
		return fmt.Errorf("localdb: look up database: %w: %s", err, out)
	}
	if !bytes.Contains(out, []byte("1")) {
		out, err = c.run(ctx, "createdb", "-h", "127.0.0.1", "-p", strconv.Itoa(c.port), "-U", "postgres",
			"-O", OwnerRole, c.opts.Database)
		if err != nil {
			return fmt.Errorf("localdb: createdb: %w: %s", err, out)
		}
		return nil
	}
	if err := c.psql(ctx, c.opts.Database, adoptSQL); err != nil {
		return fmt.Errorf("localdb: hand the database to %s: %w", OwnerRole, err)
	}
	return nil
}

// createRolesSQL creates the two roles when missing (roles are cluster-wide).
const createRolesSQL = `DO $$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '` + OwnerRole + `') THEN
		CREATE ROLE ` + OwnerRole + ` LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
	END IF;
	IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '` + ServingRole + `') THEN
		CREATE ROLE ` + ServingRole + ` LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
	END IF;
END $$;`

// adoptSQL hands a database made by an older console (everything owned by the superuser,
// which the console also served as) to OwnerRole: the database, and the tables, views,
// sequences and functions in its public schema that no extension owns. On a database
// already handed over it changes nothing.
const adoptSQL = `DO $$
DECLARE
	r record;
BEGIN
	IF (SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()) <> '` + OwnerRole + `' THEN
		EXECUTE format('ALTER DATABASE %I OWNER TO ` + OwnerRole + `', current_database());
	END IF;
	FOR r IN
		SELECT c.oid::regclass AS name, c.relkind FROM pg_class c
		WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
		  AND pg_get_userbyid(c.relowner) <> '` + OwnerRole + `'
		  AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('e', 'a', 'i'))
	LOOP
		EXECUTE format('ALTER %s %s OWNER TO ` + OwnerRole + `',
			CASE r.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
			               WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END, r.name);
	END LOOP;
	FOR r IN
		SELECT p.oid::regprocedure AS name FROM pg_proc p
		WHERE p.pronamespace = 'public'::regnamespace AND pg_get_userbyid(p.proowner) <> '` + OwnerRole + `'
		  AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
	LOOP
		EXECUTE format('ALTER ROUTINE %s OWNER TO ` + OwnerRole + `', r.name);
	END LOOP;
END $$;`

// psql runs sql as the superuser in database.
func (c *Cluster) psql(ctx context.Context, database, sql string) error {
	out, err := c.run(ctx, "psql", "-h", "127.0.0.1", "-p", strconv.Itoa(c.port), "-U", "postgres",
		"-d", database, "-v", "ON_ERROR_STOP=1", "-qAtc", sql)
	if err != nil {
		return fmt.Errorf("%w: %s", err, out)
	}
	return nil
}

func (c *Cluster) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	path := filepath.Join(c.opts.BinDir, name)
	if _, err := os.Stat(path); err != nil {
		if p, lerr := exec.LookPath(name); lerr == nil {
			path = p
		}
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Dir = c.opts.Dir
	cmd.Env = append(os.Environ(), "LC_ALL=C", "PGCONNECT_TIMEOUT=10")
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	// pg_ctl leaves the server running with our stdout as its stderr unless -l is given;
	// it is, so capturing the output here cannot block on the server.
	return cmd.CombinedOutput()
}

func findBinDir(dir string) (string, error) {
	if dir != "" {
		return dir, nil
	}
	if _, err := os.Stat(filepath.Join(DefaultBinDir, "pg_ctl")); err == nil {
		return DefaultBinDir, nil
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("localdb: PostgreSQL server binaries not found: install postgresql-15 or set DATABASE_URL")
}

func postgresCredential() (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("localdb: running as root needs the postgres OS user: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("localdb: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
