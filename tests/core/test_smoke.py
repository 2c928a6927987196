async def test_health_and_login_roundtrip(client, make_user):
    response = await client.get("/health")
    assert response.status_code == 200
    admin = await make_user("org_admin")
    me = await client.get("/api/v1/me", headers=admin.headers)
    assert me.status_code == 200, await me.get_data()
    body = await me.get_json()
    assert body["role"] == "org_admin"
    assert body["organization_id"] == admin.organization_id
    anonymous = await client.get("/api/v1/me")
    assert anonymous.status_code == 401
    assert anonymous.headers["Content-Type"] == "application/problem+json"
