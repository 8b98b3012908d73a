import requests,re
from bs4 import BeautifulSoup
B='http://127.0.0.1:18141'
def form(html):
    f=BeautifulSoup(html,'html.parser').find('form'); return f.get('action'),{i.get('name'):i.get('value','') for i in f.find_all('input') if i.get('name')}
s=requests.Session()
r=s.get(B+'/realms/demo/account'); print('GET account', r.status_code, r.headers.get('set-cookie'))
a,d=form(r.text); print('action', a)
d.update(username='alice',password='s3cret')
# requests won't send Secure cookies over http; send manually
ck='RG_CSRF='+d['csrf']
r=requests.post(B+a.split('/base',1)[1] if '/base' in a else a, data=d, headers={'Cookie':ck}, allow_redirects=False)
print('POST login', r.status_code, r.headers.get('location'), r.headers.get('set-cookie'))
r=requests.get(B+'/admin/console/',allow_redirects=False); print('console', r.status_code, r.headers.get('location'))
r=requests.get(B+'/realms/master/login-actions/console'); a,d=form(r.text); print('console login action',a, r.headers.get('set-cookie'))
r=requests.post(B+a.split('/base',1)[1],data=dict(d,username='admin',password='adminpw'),headers={'Cookie':'RG_CSRF='+d['csrf']},allow_redirects=False)
print('console login', r.status_code, r.headers.get('location')); 
for c in r.raw.headers.getlist('set-cookie'): print('  ',c)
