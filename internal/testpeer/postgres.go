package testpeer

import (
	"errors"
	"fmt"
	"os/user"
	"strconv"
)

// postgresUser returns the uid/gid of the system user PostgreSQL runs as when
// the tests run as root (initdb and postgres refuse to run as root).
func postgresUser() (uint32, uint32, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return 0, 0, errors.New("running as root: PostgreSQL needs the postgres system user (Debian's postgresql package creates it)")
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("postgres user: bad uid/gid %s/%s", u.Uid, u.Gid)
	}
	return uint32(uid), uint32(gid), nil
}
