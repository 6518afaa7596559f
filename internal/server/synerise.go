package server

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/raas-console/console/internal/config"
	"github.com/raas-console/console/internal/handlers"
	"github.com/raas-console/console/internal/synerise"
	"github.com/raas-console/console/internal/synerise/simulator"
)

// userAgent names the console to Synerise.
const userAgent = "raas-console/1"

// connectSynerise builds the Synerise client. Without SYNERISE_API_URL it first starts the
// built-in simulator on a loopback port and points the client at it; the simulator is
// returned so the sandbox pages can show its outbox.
func connectSynerise(cfg config.Config, sim *simulator.Simulator, observer synerise.Observer, terminal io.Writer, logger *slog.Logger) (*synerise.Client, *simulator.Simulator, func(), error) {
	url, key := cfg.SyneriseAPIURL, cfg.SyneriseAPIKey
	stop := func() {}
	if cfg.Sandbox() {
		if sim == nil {
			sim = simulator.New(simulator.Options{})
			// The sandbox's example accounts wait for activation links and PINs, so its
			// workspace activates accounts by e-mail rather than Synerise's default,
			// AUTOMATIC, under which no account would need activating.
			ws := sim.Settings()
			ws["registrationType"] = []byte(`"REQUIRE_EMAIL_ACTIVATION"`)
			if problems, _ := sim.SetSettings(ws); len(problems) > 0 {
				return nil, nil, nil, fmt.Errorf("server: sandbox settings: %v", problems)
			}
		}
		srv, err := simulator.Serve(sim, "127.0.0.1:0")
		if err != nil {
			return nil, nil, nil, fmt.Errorf("server: start the Synerise simulator: %w", err)
		}
		stop = func() { _ = srv.Close() }
		url, key = srv.URL, simulator.DefaultAPIKey
		logger.Info("Synerise simulator running (sandbox)", "url", url)
		printSandbox(terminal, url, sim)
	}
	if !cfg.Sandbox() {
		sim = nil
	}
	client, err := synerise.NewClient(url, key,
		synerise.WithSettingsPath(cfg.SyneriseSettingsPath),
		synerise.WithErasePath(cfg.SyneriseErasePath),
		synerise.WithUserAgent(userAgent),
		synerise.WithObserver(observer))
	if err != nil {
		stop()
		return nil, nil, nil, fmt.Errorf("server: Synerise client: %w", err)
	}
	return client, sim, stop, nil
}

func printSandbox(w io.Writer, url string, sim *simulator.Simulator) {
	fmt.Fprintf(w, "Sandbox: the built-in Synerise simulator serves %s\n  customers to look up:\n", url)
	for _, ex := range sim.Examples() {
		id := ex.Email
		if id == "" {
			id = ex.UUID
		}
		fmt.Fprintf(w, "    %-30s %s\n", ex.State, id)
	}
	fmt.Fprintln(w)
}

// SandboxOutbox shows the web layer what sim would have e-mailed, in its own terms.
func SandboxOutbox(sim *simulator.Simulator) interface {
	Outbox() []handlers.SandboxMessage
} {
	return simOutbox{sim}
}

type simOutbox struct{ sim *simulator.Simulator }

func (o simOutbox) Outbox() []handlers.SandboxMessage {
	msgs := o.sim.Outbox()
	out := make([]handlers.SandboxMessage, len(msgs))
	for i, m := range msgs {
		out[i] = handlers.SandboxMessage{Kind: string(m.Kind), Email: m.Email, ClientID: m.ClientID,
			Secret: m.Secret, Link: m.Link, DeviceID: m.DeviceID, Time: m.Time}
	}
	return out
}
