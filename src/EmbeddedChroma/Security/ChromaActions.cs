namespace EmbeddedChroma;

/// <summary>
/// The actions an API key may be granted, in ChromaDB's vocabulary (<c>tenant:…</c>, <c>db:…</c>,
/// <c>collection:…</c>) plus <c>system:…</c> for store-wide calls.
/// </summary>
public static class ChromaActions
{
    /// <summary>Store heartbeat / version.</summary>
    public const string SystemHeartbeat = "system:heartbeat";
    /// <summary>Create a tenant.</summary>
    public const string CreateTenant = "tenant:create_tenant";
    /// <summary>Read a tenant.</summary>
    public const string GetTenant = "tenant:get_tenant";
    /// <summary>List tenants.</summary>
    public const string ListTenants = "tenant:list_tenants";
    /// <summary>Delete a tenant.</summary>
    public const string DeleteTenant = "tenant:delete_tenant";
    /// <summary>Create a database.</summary>
    public const string CreateDatabase = "db:create_database";
    /// <summary>Read a database.</summary>
    public const string GetDatabase = "db:get_database";
    /// <summary>List databases.</summary>
    public const string ListDatabases = "db:list_databases";
    /// <summary>Delete a database.</summary>
    public const string DeleteDatabase = "db:delete_database";
    /// <summary>Create a collection.</summary>
    public const string CreateCollection = "db:create_collection";
    /// <summary>Get (open) a collection.</summary>
    public const string GetCollection = "db:get_collection";
    /// <summary>Get or create a collection.</summary>
    public const string GetOrCreateCollection = "db:get_or_create_collection";
    /// <summary>List or count collections.</summary>
    public const string ListCollections = "db:list_collections";
    /// <summary>Delete a collection.</summary>
    public const string DeleteCollection = "db:delete_collection";
    /// <summary>Rename a collection or change its metadata / ef_search.</summary>
    public const string UpdateCollection = "collection:update_collection";
    /// <summary>Add records.</summary>
    public const string Add = "collection:add";
    /// <summary>Upsert records.</summary>
    public const string Upsert = "collection:upsert";
    /// <summary>Update records.</summary>
    public const string Update = "collection:update";
    /// <summary>Delete records.</summary>
    public const string Delete = "collection:delete";
    /// <summary>Get records (and peek).</summary>
    public const string Get = "collection:get";
    /// <summary>Query nearest neighbours.</summary>
    public const string Query = "collection:query";
    /// <summary>Count records.</summary>
    public const string Count = "collection:count";
}
