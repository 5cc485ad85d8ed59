package auth

// Lookup returns the identity of the configured user called name, with its
// permissions, without checking credentials: for a session the server
// restores on its own after a restart (an MQTT persistent session, whose
// subscriptions were authorized when its client made them). An empty name
// is the token or unauthenticated identity. A user no longer configured is
// an error wrapping ErrAuthorizationViolation.
func (a *Authenticator) Lookup(name string) (*Identity, error) {
	if a == nil || !a.Required() {
		return newIdentity(name, MethodNone, nil), nil
	}
	if name == "" {
		if a.token != "" {
			return newIdentity("", MethodToken, nil), nil
		}
		return nil, deny("no user")
	}
	if u := a.users[name]; u != nil {
		return newIdentity(u.name, MethodPassword, u.pol), nil
	}
	for _, u := range a.nkeys {
		if u.name == name {
			return newIdentity(u.name, MethodNkey, u.pol), nil
		}
	}
	return nil, deny("unknown user %q", clip(name))
}
