package mqtt

import "strconv"

// Protocol levels carried in CONNECT.
const (
	V311 byte = 4 // MQTT 3.1.1
	V5   byte = 5 // MQTT 5.0
)

// Control packet types (the high nibble of the first byte).
const (
	CONNECT     byte = 1
	CONNACK     byte = 2
	PUBLISH     byte = 3
	PUBACK      byte = 4
	PUBREC      byte = 5
	PUBREL      byte = 6
	PUBCOMP     byte = 7
	SUBSCRIBE   byte = 8
	SUBACK      byte = 9
	UNSUBSCRIBE byte = 10
	UNSUBACK    byte = 11
	PINGREQ     byte = 12
	PINGRESP    byte = 13
	DISCONNECT  byte = 14
	AUTH        byte = 15
)

// MQTT 5 reason codes (section 2.4), used by Wren's broker.
const (
	Success                    byte = 0x00
	GrantedQoS1                byte = 0x01
	GrantedQoS2                byte = 0x02
	DisconnectWithWill         byte = 0x04
	NoMatchingSubscribers      byte = 0x10
	NoSubscriptionExisted      byte = 0x11
	UnspecifiedError           byte = 0x80
	MalformedPacket            byte = 0x81
	ProtocolError              byte = 0x82
	ImplementationSpecific     byte = 0x83
	UnsupportedProtocolVersion byte = 0x84
	ClientIDNotValid           byte = 0x85
	BadUserNameOrPassword      byte = 0x86
	NotAuthorized              byte = 0x87
	ServerUnavailable          byte = 0x88
	ServerBusy                 byte = 0x89
	ServerShuttingDown         byte = 0x8B
	KeepAliveTimeout           byte = 0x8D
	SessionTakenOver           byte = 0x8E
	TopicFilterInvalid         byte = 0x8F
	TopicNameInvalid           byte = 0x90
	PacketIDInUse              byte = 0x91
	PacketIDNotFound           byte = 0x92
	ReceiveMaximumExceeded     byte = 0x93
	TopicAliasInvalid          byte = 0x94
	PacketTooLarge             byte = 0x95
	QuotaExceeded              byte = 0x97
	PayloadFormatInvalid       byte = 0x99
	RetainNotSupported         byte = 0x9A
	QoSNotSupported            byte = 0x9B
	SharedSubsNotSupported     byte = 0x9E
	SubIDsNotSupported         byte = 0xA1
	WildcardSubsNotSupported   byte = 0xA2
	MaximumConnectTime         byte = 0xA0
	AdministrativeAction       byte = 0x98
	ConnectionRateExceeded     byte = 0x9F
	UseAnotherServer           byte = 0x9C
	ServerMoved                byte = 0x9D
	SubackFailure311           byte = 0x80
	ConnackRefusedVersion311   byte = 0x01
	ConnackRefusedID311        byte = 0x02
	ConnackUnavailable311      byte = 0x03
	ConnackBadCredentials311   byte = 0x04
	ConnackNotAuthorized311    byte = 0x05
	maxRemainingLength              = 268435455
)

// ConnackCode311 maps an MQTT 5 CONNACK reason code onto the nearest 3.1.1
// return code.
func ConnackCode311(code byte) byte {
	switch code {
	case Success:
		return 0
	case UnsupportedProtocolVersion:
		return ConnackRefusedVersion311
	case ClientIDNotValid:
		return ConnackRefusedID311
	case BadUserNameOrPassword:
		return ConnackBadCredentials311
	case NotAuthorized:
		return ConnackNotAuthorized311
	default:
		return ConnackUnavailable311
	}
}

// Error is a packet the codec refuses, with the reason code a broker
// answers it with (MalformedPacket or ProtocolError, or a more specific
// one) and what was wrong.
type Error struct {
	Code byte
	Msg  string
}

func (e *Error) Error() string {
	return "mqtt: " + e.Msg + " (reason 0x" + strconv.FormatUint(uint64(e.Code), 16) + ")"
}

func malformed(msg string) error { return &Error{Code: MalformedPacket, Msg: msg} }
func protoErr(msg string) error  { return &Error{Code: ProtocolError, Msg: msg} }

// ErrTooLarge is returned by Frame for a packet longer than the limit it was
// given.
var ErrTooLarge error = &Error{Code: PacketTooLarge, Msg: "packet exceeds the maximum packet size"}
