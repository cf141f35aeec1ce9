/**
 * The admin GraphQL schema. getConnectionHistory and ConnectionRecord's first eleven fields follow
 * shared/reference/connection-history-api.md field for field; the rest are radstream's additions,
 * which the documented query never asks for and so never sees. DateTime is an ISO-8601 UTC instant.
 */
export const schema = /* GraphQL */ `
  scalar DateTime

  "One RADIUS accounting session."
  type ConnectionRecord {
    id: ID!
    sessionId: String!
    nasIpAddress: String!
    nasPortId: String
    nasPortType: String
    startTime: DateTime!
    stopTime: DateTime
    connectInfoStart: String
    callingStationId: String
    terminateCause: String
    framedIpAddress: String
    "Opaque position of this record; pass it as 'after' for the next page."
    cursor: String!
    userId: Int
    username: String
    "The last accounting heard for this session."
    updateTime: DateTime
    framedIpv6Address: String
    framedIpv6Prefix: String
    delegatedIpv6Prefix: String
    "Octets as decimal text: 64-bit counters do not fit GraphQL's Int."
    inputOctets: String
    outputOctets: String
    sessionTime: String
    """
    whoHadIp only: true when sessions of more than one NAS held the address at that instant, so the
    data cannot say which one had it (each NAS holds it in one session at most).
    """
    ambiguousAddress: Boolean
    """
    A session closed because a newer session on its NAS took its address: that session's start, the
    latest this one can have ended (stopTime is when its packets last proved it alive).
    """
    stopTimeLatest: DateTime
    """
    whoHadIp only: true when the instant lies after the session was last heard of and before its
    NAS gave the address to another session: nobody else held it, but the session's packets no
    longer prove it did (its NAS may have died).
    """
    holdUnconfirmed: Boolean
  }

  type User {
    id: Int!
    username: String!
    reseller: String
  }

  enum UsageGranularity {
    DAY
    MONTH
  }

  enum UsageOrder {
    OCTETS
    TIME
  }

  "Usage in one UTC day or month: octets as decimal text (64-bit), time in seconds."
  type UsagePeriod {
    "The first instant of the day or month (UTC)."
    start: DateTime!
    inputOctets: String!
    outputOctets: String!
    totalOctets: String!
    sessionTime: Float!
    "Sessions that started in the period."
    sessions: Int!
  }

  type UserUsage {
    user: User!
    inputOctets: String!
    outputOctets: String!
    totalOctets: String!
    sessionTime: Float!
    sessions: Int!
  }

  type UserOverQuota {
    user: User!
    "The quota that applies: the user's own, else its realm's."
    monthlyOctets: String!
    "When the sessionizer saw the user pass it (and wrote the audit event); null for a quota set after."
    crossedAt: DateTime
    inputOctets: String!
    outputOctets: String!
    totalOctets: String!
    sessionTime: Float!
    sessions: Int!
  }

  "A monthly octet limit of one user or of every user of a realm."
  type UsageQuota {
    userId: Int
    realm: String
    monthlyOctets: String!
  }

  type Reseller {
    id: Int!
    name: String!
  }

  type RealmAssignment {
    realm: String!
    reseller: String!
    "Existing users of the realm moved to the reseller by this assignment."
    usersAssigned: Int!
  }

  "An OAuth client of the API (its secret is never shown again after it is made or rotated)."
  type ApiClient {
    id: ID!
    name: String!
    scopes: [String!]!
    reseller: String
    auditHistoryDays: Int!
    rateLimitPerMinute: Int!
    createdAt: DateTime!
    secretRotatedAt: DateTime
    "While set and in the future, the secret before the last rotation still works."
    previousSecretValidUntil: DateTime
    revokedAt: DateTime
  }

  "A new client secret, shown this once."
  type ApiClientSecret {
    clientId: ID!
    clientSecret: String!
    "Until when the replaced secret still works; null: it stopped at once."
    previousSecretValidUntil: DateTime
  }

  type Nas {
    network: String!
    name: String
    "Where the NAS takes Disconnect- and CoA-Requests (RFC 5176); null: it takes none."
    coaPort: Int
    "Its Dynamic Authorization address when not the session's NAS address."
    coaAddress: String
    "The interim interval it is configured with (seconds), for the stale sweep; null: not known."
    interimInterval: Int
  }

  "The answer to a Disconnect- or CoA-Request (RFC 5176)."
  enum DynamicAuthorizationOutcome {
    "The NAS acknowledged (Disconnect-ACK, CoA-ACK)."
    ACK
    "The NAS refused (Disconnect-NAK, CoA-NAK); errorCause says why."
    NAK
    "No answer within the retransmissions."
    TIMEOUT
    "Answers came but none was signed with the NAS's secret: none was trusted."
    UNVERIFIED
  }

  "A NAK's Error-Cause (RFC 5176 section 3.6), e.g. 503 Session-Context-Not-Found."
  type ErrorCause {
    code: Int!
    name: String!
  }

  type DynamicAuthorizationResult {
    outcome: DynamicAuthorizationOutcome!
    "What happened and what it means for the session, in words."
    message: String!
    errorCause: ErrorCause
    "The Dynamic Authorization server the request went to."
    nasAddress: String!
    nasPort: Int!
    attempts: Int!
    elapsedMs: Int!
    unverifiedResponses: Int!
    "The session as recorded now: a disconnect leaves it open until the NAS's Stop arrives."
    session: ConnectionRecord!
  }

  "A Vendor-Specific attribute: IANA enterprise number, vendor type and the value in hex."
  input VendorAttributeInput {
    vendorId: Int!
    type: Int!
    value: String!
  }

  "The attributes a CoA-Request sets on a live session; at least one."
  input SessionChangeInput {
    "Seconds, 1 to 2147483647."
    sessionTimeout: Int
    "Seconds, 1 to 2147483647."
    idleTimeout: Int
    filterId: String
    vendorAttributes: [VendorAttributeInput!]
  }

  "One step of a session timeline."
  type SessionTimelineStep {
    "The step's first instant."
    at: DateTime!
    "Sessions open at that instant."
    concurrent: Int!
    "Sessions that started within the step."
    started: Int!
    "Sessions that stopped within the step."
    stopped: Int!
  }

  "Sessions stopped with one Acct-Terminate-Cause ('unknown': the NAS gave none)."
  type TerminateCauseCount {
    cause: String!
    sessions: Int!
  }

  enum SessionEventType {
    STARTED
    STOPPED
  }

  type SessionEvent {
    type: SessionEventType!
    session: ConnectionRecord!
  }

  type Query {
    """
    The user's sessions, newest first. Without 'first' and 'after', the complete history (within
    'from' and 'to'), up to 10000 sessions; a user with more: HTTP 400, code HISTORY_TOO_LARGE,
    never a list cut short. Paged: at most 1000 a page ('first', 100 with only 'after'), continued
    with 'after' (the last record's cursor); 'from' (inclusive) and 'to' (exclusive) bound the start
    time. Unknown user, or one of another reseller: HTTP 404, code USER_NOT_FOUND.
    """
    getConnectionHistory(userId: Int!, from: DateTime, to: DateTime, first: Int, after: String): [ConnectionRecord!]!
    "Finds a user by RADIUS User-Name; null when there is none the caller may see."
    userByName(username: String!): User
    "Open sessions, newest first, paged as getConnectionHistory; optionally of one NAS or one user."
    getOnlineSessions(nasIpAddress: String, userId: Int, first: Int, after: String): [ConnectionRecord!]!
    """
    The sessions that held this IPv4 or IPv6 address (or a prefix containing it) at that instant:
    one per NAS at most (a newer session on a NAS that took the address ends the older one's hold).
    """
    whoHadIp(ip: String!, at: DateTime!): [ConnectionRecord!]!
    "The API's clients, oldest first (admin scope)."
    apiClients(includeRevoked: Boolean = false): [ApiClient!]!
    """
    A user's traffic, time and sessions in every UTC day or month that [from, to) touches, oldest
    first, zeros included (at most 366 days or 120 months). Unknown user, or another reseller's:
    404 USER_NOT_FOUND.
    """
    usage(userId: Int!, from: DateTime!, to: DateTime!, granularity: UsageGranularity = DAY): [UsagePeriod!]!
    "The heaviest users of a day (period YYYY-MM-DD) or month (YYYY-MM); first: 10 by default, at most 1000."
    topUsers(by: UsageOrder!, period: String!, first: Int): [UserUsage!]!
    """
    Sessions over [from, to) (at most 7 days, from at most 7 days ago) in steps of stepSeconds (at
    least 60, at most 1440 steps): open at each step's start, started and stopped within it;
    optionally of one NAS.
    """
    sessionTimeline(
      from: DateTime!
      to: DateTime!
      stepSeconds: Int = 300
      nasIpAddress: String
    ): [SessionTimelineStep!]!
    "Sessions stopped in [from, to) (at most 7 days) by terminate cause, most first; optionally of one NAS."
    terminateCauses(from: DateTime!, to: DateTime!, nasIpAddress: String): [TerminateCauseCount!]!
    "How many sessions are open now; optionally of one NAS."
    onlineSessionCount(nasIpAddress: String): Int!
    "Users at or past their monthly quota in a month (YYYY-MM; default this month, UTC)."
    usersOverQuota(month: String): [UserOverQuota!]!
  }

  type Mutation {
    createReseller(name: String!): Reseller!
    assignUserToReseller(userId: Int!, reseller: String!): User!
    "Users named user@realm belong to the reseller: those that exist now and those seen later."
    assignRealmToReseller(realm: String!, reseller: String!): RealmAssignment!
    """
    coaPort: its Dynamic Authorization port (new NAS: 3799), 0 for none; interimInterval: seconds, 0
    for not known; an omitted argument leaves the field unchanged.
    """
    registerNas(
      ip: String!
      secret: String!
      name: String
      coaPort: Int
      coaAddress: String
      interimInterval: Int
    ): Nas!
    removeNas(ip: String!): Boolean!
    "A monthly octet quota for one user (userId) or every user of a realm; a user's own wins."
    setUsageQuota(userId: Int, realm: String, monthlyOctets: String!): UsageQuota!
    removeUsageQuota(userId: Int, realm: String): Boolean!
    """
    A new secret for an active client; the old one keeps working for graceSeconds (default 86400,
    0: it stops at once). Tokens already issued run until they expire. Unknown or revoked client:
    404 CLIENT_NOT_FOUND.
    """
    rotateApiClientSecret(clientId: ID!, graceSeconds: Int): ApiClientSecret!
    "Revokes a client: its secrets at once, its tokens within 5 seconds. Unknown: 404 CLIENT_NOT_FOUND."
    revokeApiClient(clientId: ID!): ApiClient!
    """
    Asks the session's NAS to end it (Disconnect-Request). The NAS's Stop closes the row; a NAK or
    a timeout leaves it open. Unknown (or another reseller's) session: 404 SESSION_NOT_FOUND;
    stopped: 409 SESSION_ALREADY_STOPPED; a NAS without Dynamic Authorization: 409 NAS_WITHOUT_DAE.
    """
    disconnectSession(id: ID!): DynamicAuthorizationResult!
    "Asks the session's NAS to apply attributes to it (CoA-Request); errors as disconnectSession."
    changeSession(id: ID!, attributes: SessionChangeInput!): DynamicAuthorizationResult!
  }

  type Subscription {
    "Sessions starting and stopping, as the sessionizer records them."
    sessionEvents(nasIpAddress: String): SessionEvent!
  }
`
