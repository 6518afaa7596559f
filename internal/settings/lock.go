package settings

import "time"

// LockKey names the database lock that serialises settings writes across every console
// process sharing the database ("settings" in ASCII).
const LockKey int64 = 0x73657474696e6773

// LockWait is how long a save waits for another admin's save to finish.
const LockWait = 10 * time.Second
