// Package simulator is a built-in, in-memory Synerise workspace that follows
// the project's Synerise API contract (synerise-api.md) to the letter, wire format included.
// It is the console's embedded default (make run, demos) and the ground every
// test stands on. It never imports the client package.
//
// # Synerise endpoints
//
//	POST /uauth/v2/auth/login/profile                     auth.login (no token; IAM error shape)
//	GET  /v4/auth/refresh/profile                         auth.refresh
//	GET  /v4/clients                                      profiles.list
//	GET  /v4/clients/{clientId}                           profiles.get
//	GET  /v4/clients/by-email/{email}                     profiles.get
//	GET  /v4/clients/by-customId/{customId}               profiles.get
//	GET  /v4/clients/by-uuid/{uuid}                       profiles.get
//	POST /v4/clients/{clientId}                           profiles.update
//	POST /sauth/clients/password-reset/request            accounts.password_reset
//	POST /sauth/clients/password-reset/confirmation       accounts.password_reset_confirm
//	POST /sauth/clients/activation/request                accounts.activation
//	POST /sauth/clients/activation/confirmation           accounts.activation_confirm
//	POST /sauth/clients/activation/by-pin-code/request    accounts.pin
//	POST /sauth/clients/activation/by-pin-code/confirmation accounts.pin_confirm
//	GET  /sauth/settings/general, GET /sauth/settings     settings.get
//	POST /sauth/settings/general, POST /sauth/settings    settings.set
//
// The right-hand names are route names: they key fault injection
// ([Simulator.SetFault]; "*" matches every route that has no fault of its own)
// and the request counters ([Simulator.RequestCount]). Requests that match no
// route are counted as "unknown".
//
// Every endpoint except login requires "Authorization: Bearer <token>" with a
// token from login or refresh. Errors use the profile shape
// {"error","status","timestamp","path","message","errors":[...]} everywhere
// except under /uauth, which uses the IAM shape
// {"path","timestamp","errorCode","status","message","traceId"}. An expired
// token answers 401 with "error": "Token expired.". Request bodies must be
// sent with Content-Type application/json (400 otherwise).
//
// # Simulator-only admin endpoints
//
// These are served under /_simulator/ by the simulator's own handler only.
// They need no Synerise token and answer JSON:
//
//	GET    /_simulator/outbox[?email=]          messages Synerise would have sent
//	DELETE /_simulator/outbox                   forget every message
//	GET    /_simulator/settings                 the raw RaaS settings object
//	GET    /_simulator/faults                   faults in force, by route
//	POST   /_simulator/faults                   {"route":"profiles.get","latencyMs":200,
//	                                            "errorRate":0.5,"errorStatus":503,
//	                                            "rateLimitRate":1,"retryAfterSeconds":2,
//	                                            "dropRate":0}; {"route":"x","clear":true}
//	                                            removes one route's fault
//	DELETE /_simulator/faults                   clears every fault
//	GET    /_simulator/requests                 request counts per route
//	GET    /_simulator/examples                 well-known customers, one per state
//	GET    /_simulator/accounts/{clientId}      registration state of one customer
//
// # Registration state and device ids
//
// Each customer has an internal registration state: registered with a
// password or not, activated or not (the attribute snrs_email_confirmed,
// "true"/"false", is the source of truth), and the device id of the last PIN
// request. The device id is exposed read-only in the profile as the custom
// attribute "snrs_last_pin_device_id" (absent when no PIN was ever
// requested) and by GET /_simulator/accounts/{clientId}; writing that
// attribute through the profile update is a 400. Real Synerise workspaces may
// not expose it, so a console must treat it as optional.
//
// The customer set is generated from Options.Seed: the same seed gives the
// same customers, byte for byte. [Simulator.Examples] lists hand-written
// customers (the same for every seed) in each registration state.
package simulator
