using EmbeddedChroma.Internal;
using EmbeddedChroma.Storage;

namespace EmbeddedChroma.Engine;

/// <summary>What every engine part of one open store shares: the database, the write session, the folder and the limits.</summary>
internal sealed record StoreContext(SqliteDb Db, WriteSession Session, StoreFolder Folder, StoreLimits Limits);
