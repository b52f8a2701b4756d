namespace EmbeddedChroma.Tests.Validation;

/// <summary>Operations on a deleted collection (ChromaNotFoundException) and on a closed store (ChromaStoreClosedException).</summary>
public sealed class LifecycleValidationTests : ValidationTestBase
{
    public static TheoryData<string> CollectionOperations => new()
    {
        "add", "upsert", "update", "delete", "get", "peek", "query", "count", "modify",
    };

    private static void Invoke(Collection c, string operation)
    {
        switch (operation)
        {
            case "add": c.Add(["n0"], [Vec()]); break;
            case "upsert": c.Upsert(["r0"], [Vec()]); break;
            case "update": c.Update(["r0"], [Vec()]); break;
            case "delete": c.Delete(["r0"]); break;
            case "get": c.Get(); break;
            case "peek": c.Peek(); break;
            case "query": c.Query([Vec()], 2); break;
            case "count": c.Count(); break;
            case "modify": c.Modify(metadata: Meta(("k", 1))); break;
            default: throw new ArgumentOutOfRangeException(nameof(operation));
        }
    }

    [Theory]
    [MemberData(nameof(CollectionOperations))]
    public void Collection_operation_throws_not_found_when_collection_was_deleted(string operation)
    {
        Client.DeleteCollection(CollectionName);
        var act = () => Invoke(Collection, operation);
        act.Should().ThrowExactly<ChromaNotFoundException>().WithMessage($"*'{CollectionName}'*deleted*");
    }

    [Theory]
    [MemberData(nameof(CollectionOperations))]
    public void Collection_operation_throws_not_found_when_deleted_through_another_handle(string operation)
    {
        var other = Store.GetClient(AdminKey).GetCollection(CollectionName);
        Client.DeleteCollection(CollectionName);
        var act = () => Invoke(other, operation);
        act.Should().ThrowExactly<ChromaNotFoundException>();
    }

    [Theory]
    [MemberData(nameof(CollectionOperations))]
    public void Collection_operation_throws_not_found_on_old_handle_when_name_was_recreated(string operation)
    {
        Client.DeleteCollection(CollectionName);
        var recreated = Client.CreateCollection(CollectionName);
        var act = () => Invoke(Collection, operation);
        act.Should().ThrowExactly<ChromaNotFoundException>();
        recreated.Count().Should().Be(0, "the old handle must not write into the new collection");
        recreated.Dimension.Should().BeNull();
    }

    [Fact]
    public void Client_throws_not_found_when_getting_or_deleting_a_deleted_collection()
    {
        Client.DeleteCollection(CollectionName);
        ((Action)(() => Client.GetCollection(CollectionName))).Should().ThrowExactly<ChromaNotFoundException>().WithMessage($"*'{CollectionName}'*");
        ((Action)(() => Client.DeleteCollection(CollectionName))).Should().ThrowExactly<ChromaNotFoundException>();
        Client.ListCollections().Should().BeEmpty();
    }

    [Fact]
    public void Deleted_collection_stays_deleted_when_store_is_reopened()
    {
        Client.DeleteCollection(CollectionName);
        Store.Dispose();
        Store = ChromaStore.Open(FolderPath, SmallLimits);
        Client = Store.GetClient(AdminKey);
        ((Action)(() => Client.GetCollection(CollectionName))).Should().ThrowExactly<ChromaNotFoundException>();
    }

    [Theory]
    [MemberData(nameof(CollectionOperations))]
    public void Collection_operation_throws_store_closed_when_store_was_disposed(string operation)
    {
        Store.Dispose();
        var act = () => Invoke(Collection, operation);
        act.Should().ThrowExactly<ChromaStoreClosedException>().WithMessage("*closed*");
    }

    [Theory]
    [MemberData(nameof(CollectionOperations))]
    public void Collection_operation_throws_store_closed_before_validating_arguments_when_store_was_disposed(string operation)
    {
        // Even a call that would also be invalid reports the closed store, not a validation error.
        Store.Dispose();
        Action act = operation switch
        {
            "add" => () => Collection.Add(["n0", "n0"], [Vec(), Vec()]),
            "upsert" => () => Collection.Upsert([""], [Vec()]),
            "update" => () => Collection.Update(["r0"], [Vec(dim: 2)]),
            "delete" => () => Collection.Delete(),
            "get" => () => Collection.Get(limit: -1),
            "peek" => () => Collection.Peek(1),
            "query" => () => Collection.Query([Vec()], 0),
            "count" => () => Collection.Count(),
            _ => () => Collection.Modify(metadata: Meta(("k", 1))),
        };
        act.Should().Throw<ChromaException>().Which.Should().BeOfType<ChromaStoreClosedException>();
    }

    [Fact]
    public void Client_operation_throws_store_closed_when_store_was_disposed()
    {
        Store.Dispose();
        ((Action)(() => Client.GetCollection(CollectionName))).Should().ThrowExactly<ChromaStoreClosedException>();
        ((Action)(() => Client.CreateCollection("another"))).Should().ThrowExactly<ChromaStoreClosedException>();
        ((Action)(() => Client.GetOrCreateCollection("another"))).Should().ThrowExactly<ChromaStoreClosedException>();
        ((Action)(() => Client.DeleteCollection(CollectionName))).Should().ThrowExactly<ChromaStoreClosedException>();
        ((Action)(() => Client.ListCollections())).Should().ThrowExactly<ChromaStoreClosedException>();
        ((Action)(() => Client.CountCollections())).Should().ThrowExactly<ChromaStoreClosedException>();
        ((Action)(() => Client.Heartbeat())).Should().ThrowExactly<ChromaStoreClosedException>();
        ((Action)(() => Store.GetClient(AdminKey))).Should().ThrowExactly<ChromaStoreClosedException>();
        ((Action)(() => Store.Authenticate(AdminKey))).Should().ThrowExactly<ChromaStoreClosedException>();
    }

    [Fact]
    public void Dispose_is_idempotent_and_reopen_sees_the_data_when_store_was_closed()
    {
        var before = Snapshot();
        Store.Dispose();
        Store.Dispose();
        ((Action)(() => Collection.Count())).Should().ThrowExactly<ChromaStoreClosedException>();

        Store = ChromaStore.Open(FolderPath, SmallLimits);
        Client = Store.GetClient(AdminKey);
        var reopened = Client.GetCollection(CollectionName);
        Snapshot(reopened).Should().Be(before);
        ((Action)(() => Collection.Count())).Should().ThrowExactly<ChromaStoreClosedException>("handles of the closed store stay closed");
    }

    [Fact]
    public void Rejected_writes_leave_nothing_behind_when_store_is_reopened()
    {
        var before = Snapshot();
        ((Action)(() => Collection.Add(["n0", "n1"], [Vec(), Vec(dim: 3)]))).Should().ThrowExactly<ChromaValidationException>();
        ((Action)(() => Collection.Upsert(["r0", "n1"], [Vec(9), Vec()], [null, Meta(("#x", 1))]))).Should().ThrowExactly<ChromaValidationException>();
        ((Action)(() => Collection.Update(["r0", "r0"], [Vec(9), Vec(9)]))).Should().ThrowExactly<ChromaDuplicateIdException>();
        Store.Dispose();
        Store = ChromaStore.Open(FolderPath, SmallLimits);
        Client = Store.GetClient(AdminKey);
        Collection = Client.GetCollection(CollectionName);
        Snapshot().Should().Be(before);
        Collection.Query([Vec()], 3).Ids[0].Should().HaveCount(3);
    }
}
