/** Fixed benchmark-only ed25519 seeds (never use these anywhere else). */
export const SERVER_SECRET = "b1".repeat(32);
/** The client's benchmark-only seed. */
export const CLIENT_SECRET = "c1".repeat(32);
