// The app's own user table, standing in for yours (a database, SSO, magic links).
// prolong never sees a password: the login route tells it "this is user-42" and no more.
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";

export interface User {
  id: string;
  username: string;
  name: string;
}

interface StoredUser extends User {
  salt: Buffer;
  hash: Buffer;
}

const hashOf = (password: string, salt: Buffer) =>
  new Promise<Buffer>((resolve, reject) =>
    scrypt(password, salt, 32, (error, key) => (error ? reject(error) : resolve(key))),
  );

async function stored(user: User, password: string): Promise<StoredUser> {
  const salt = randomBytes(16);
  return { ...user, salt, hash: await hashOf(password, salt) };
}

const users = Promise.all([
  stored({ id: "user-42", username: "maryo", name: "Maryo" }, "correct horse battery"),
  stored({ id: "user-7", username: "ada", name: "Ada" }, "analytical engine"),
]);

const publicPart = ({ id, username, name }: StoredUser): User => ({ id, username, name });

/** The user with this username and password, or `null`. */
export async function checkPassword(username: unknown, password: unknown): Promise<User | null> {
  if (typeof username !== "string" || typeof password !== "string") return null;
  const user = (await users).find((candidate) => candidate.username === username.trim().toLowerCase());
  // An unknown name costs the same scrypt as a known one, so timing does not tell names apart.
  const hash = await hashOf(password, user?.salt ?? randomBytes(16));
  return user && timingSafeEqual(hash, user.hash) ? publicPart(user) : null;
}

/** The user a token's `sub` names: the ids are this table's. */
export async function userById(id: string): Promise<User | null> {
  const user = (await users).find((candidate) => candidate.id === id);
  return user ? publicPart(user) : null;
}
