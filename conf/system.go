package conf

// The system account (system_account): the users whose
// authorization.users entry has account = <system_account> may ask the
// server about itself over $SYS.REQ.SERVER.* and hear the
// $SYS.ACCOUNT.*.CONNECT and DISCONNECT events, as the system account's
// users of a nats-server may; the nats CLI's "server" commands then work
// with no monitoring port open. Every other client is in the one
// application account. Default empty: no system account, and $SYS
// subjects are ordinary subjects.

// systemAccount checks system_account and the account of each user.
func (v *checker) systemAccount(c *Config) {
	sys := c.SystemAccount
	if sys != "" && !isAccountName(sys) {
		v.add("system_account", "%q is not a valid account name (letters, digits, '-' and '_')", sys)
		return
	}
	members := 0
	for i, u := range c.Authorization.Users {
		switch {
		case u.Account == "":
		case sys == "":
			v.add(joinIndex("authorization.users", i)+".account", "%q is set but system_account is not: the system account is the only account besides the application's", u.Account)
		case u.Account != sys:
			v.add(joinIndex("authorization.users", i)+".account", "%q is not the system account %q: the system account is the only account besides the application's", u.Account, sys)
		default:
			members++
		}
	}
	if sys != "" && members == 0 {
		v.add("system_account", "%q has no users: give at least one authorization.users entry account = %q", sys, sys)
	}
}

func isAccountName(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return s != ""
}

// SystemUsers returns the names the system account's users authenticate
// as: the user name, or the public nkey of an nkey user without one.
func (c *Config) SystemUsers() []string {
	if c.SystemAccount == "" {
		return nil
	}
	var names []string
	for _, u := range c.Authorization.Users {
		if u.Account != c.SystemAccount {
			continue
		}
		if u.User != "" {
			names = append(names, u.User)
		} else {
			names = append(names, u.NKey)
		}
	}
	return names
}
